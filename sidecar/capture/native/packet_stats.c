/*
 * Kernel drop counts for a Linux packet socket (what pcap_stats reads): the `cap`
 * binding does not expose pcap_stats, so the sidecar asks the socket directly with
 * getsockopt(SOL_PACKET, PACKET_STATISTICS). The kernel resets the counters on every
 * read; the caller accumulates.
 */
#include <node_api.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_packet.h>

#ifndef SOL_PACKET
#define SOL_PACKET 263
#endif

/* read(fd) -> [packets, drops] since the previous read, or throws. */
static napi_value Read(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a file descriptor");
    return NULL;
  }
  /* tpacket_stats_v3 starts with the same two fields as tpacket_stats. */
  struct tpacket_stats_v3 st;
  socklen_t len = sizeof(st);
  memset(&st, 0, sizeof(st));
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  napi_value out, packets, drops;
  napi_create_array_with_length(env, 2, &out);
  napi_create_uint32(env, st.tp_packets, &packets);
  napi_create_uint32(env, st.tp_drops, &drops);
  napi_set_element(env, out, 0, packets);
  napi_set_element(env, out, 1, drops);
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "read", NAPI_AUTO_LENGTH, Read, NULL, &fn);
  napi_set_named_property(env, exports, "read", fn);
  return exports;
}

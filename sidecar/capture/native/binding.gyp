{
  "targets": [
    {
      "target_name": "packet_stats",
      "sources": ["packet_stats.c"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}

/**
 * Policy regexes (rule match/outcome/extract, redaction patterns) run over untrusted traffic,
 * bodies up to capture.maxBodyBytes. V8's default engine backtracks, so a pattern such as
 * `(a+)+$` can block the event loop for hours on a short body (ReDoS). This switches V8 to
 * its linear-time engine for any regex that exceeds its backtrack budget; results are the
 * same, only the engine changes. Patterns the linear engine cannot run (backreferences,
 * lookarounds) keep backtracking: see the security notes.
 *
 * Import this module for its effect before compiling a user-supplied regex. It is a
 * process-wide V8 flag, set once; it affects only how slow regexes are finished.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

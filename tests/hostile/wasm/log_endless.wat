;; Logs "flooding the log" at info level in an endless loop: only the time limit stops it.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "log_info" (func $log_info (param i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "flooding the log")
  ;; a copy of n bytes at src in Extism's memory (the log functions take, and free, such a block)
  (func $to_extism (param $src i32) (param $n i32) (result i64)
    (local $off i64) (local $i i32)
    (local.set $off (call $alloc (i64.extend_i32_u (local.get $n))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $store_u8 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))
                      (i32.load8_u (i32.add (local.get $src) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $off))
  (func (export "Execute") (result i32)
    (loop $forever
      (call $log_info (call $to_extism (i32.const 0) (i32.const 16)))
      (br $forever))
    (i32.const 0)))

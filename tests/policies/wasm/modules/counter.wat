;; Counts its calls in a global: on a fresh instance every call is call 1.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 0) "{\"violations\":[\"call 0\"]}")
  (func (export "Execute") (result i32)
    (local $off i64) (local $i i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store8 (i32.const 21) (i32.add (i32.const 48) (global.get $calls)))  ;; the digit in "call 0"
    (local.set $off (call $alloc (i64.const 25)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (i32.const 25)))
      (call $store_u8 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i))) (i32.load8_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (call $output_set (local.get $off) (i64.const 25))
    (i32.const 0)))

;; A clean policy: one structured violation echoing its arguments and its input.
;;   {"violations":[{"message":"<config "args" as text, or: no args>","args":<"args", or null>,"input":<input>}]}
;; It builds the output in its own memory, then copies it into Extism's memory for output_set.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 2)
  (data (i32.const 0) "args")
  (data (i32.const 16) "{\"violations\":[{\"message\":\"")
  (data (i32.const 48) "\",\"args\":")
  (data (i32.const 64) ",\"input\":")
  (data (i32.const 80) "}]}")
  (data (i32.const 96) "null")
  (data (i32.const 112) "no args")

  ;; guest bytes [src, src+n) -> a new Extism block; returns its offset
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

  ;; guest bytes [src, src+n) appended at $dst; returns the new end
  (func $put (param $dst i32) (param $src i32) (param $n i32) (result i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $n))
    (i32.add (local.get $dst) (local.get $n)))

  ;; an Extism block appended at $dst; returns the new end
  (func $put_block (param $dst i32) (param $off i64) (result i32)
    (local $n i32) (local $i i32)
    (local.set $n (i32.wrap_i64 (call $length (local.get $off))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.add (local.get $dst) (local.get $i))
                  (call $load_u8 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.add (local.get $dst) (local.get $n)))

  ;; an Extism block appended at $dst as the inside of a JSON string (quotes and backslashes escaped)
  (func $put_escaped (param $dst i32) (param $off i64) (result i32)
    (local $n i32) (local $i i32) (local $c i32)
    (local.set $n (i32.wrap_i64 (call $length (local.get $off))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $c (call $load_u8 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))))
      (if (i32.or (i32.eq (local.get $c) (i32.const 34)) (i32.eq (local.get $c) (i32.const 92)))
        (then (i32.store8 (local.get $dst) (i32.const 92))
              (local.set $dst (i32.add (local.get $dst) (i32.const 1)))))
      (i32.store8 (local.get $dst) (local.get $c))
      (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $dst))

  ;; the input appended at $dst; returns the new end
  (func $put_input (param $dst i32) (result i32)
    (local $n i32) (local $i i32)
    (local.set $n (i32.wrap_i64 (call $input_length)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.add (local.get $dst) (local.get $i))
                  (call $input_load_u8 (i64.extend_i32_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.add (local.get $dst) (local.get $n)))

  (func (export "Execute") (result i32)
    (local $args i64) (local $end i32)
    (local.set $args (call $config_get (call $to_extism (i32.const 0) (i32.const 4))))
    (local.set $end (call $put (i32.const 1024) (i32.const 16) (i32.const 27)))
    (if (i64.eqz (local.get $args))
      (then (local.set $end (call $put (local.get $end) (i32.const 112) (i32.const 7))))
      (else (local.set $end (call $put_escaped (local.get $end) (local.get $args)))))
    (local.set $end (call $put (local.get $end) (i32.const 48) (i32.const 9)))
    (if (i64.eqz (local.get $args))
      (then (local.set $end (call $put (local.get $end) (i32.const 96) (i32.const 4))))
      (else (local.set $end (call $put_block (local.get $end) (local.get $args)))))
    (local.set $end (call $put (local.get $end) (i32.const 64) (i32.const 9)))
    (local.set $end (call $put_input (local.get $end)))
    (local.set $end (call $put (local.get $end) (i32.const 80) (i32.const 3)))
    (call $output_set
      (call $to_extism (i32.const 1024) (i32.sub (local.get $end) (i32.const 1024)))
      (i64.extend_i32_u (i32.sub (local.get $end) (i32.const 1024))))
    (i32.const 0)))

;; A WASI module probing the filesystem: the preopened directory fd 3 (none should exist), then opening
;; /etc/passwd and etc/passwd through it, and "." through fd 4. Any success is a violation "opened";
;; skip_reason lists the four WASI errno values in order (08 = EBADF).
(module
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "/etc/passwd")
  (data (i32.const 16) ".")
  (data (i32.const 32) "{\"violations\":[],\"skip_reason\":\"errno")
  (data (i32.const 96) "{\"violations\":[\"opened\"],\"skip_reason\":\"errno")

  (func $emit (param $src i32) (param $n i32)
    (local $off i64) (local $i i32)
    (local.set $off (call $alloc (i64.extend_i32_u (local.get $n))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $store_u8 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))
                      (i32.load8_u (i32.add (local.get $src) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (call $output_set (local.get $off) (i64.extend_i32_u (local.get $n))))

  ;; " NN" (two decimal digits of errno) written at $dst; returns the new end
  (func $errno (param $dst i32) (param $e i32) (result i32)
    (i32.store8 (local.get $dst) (i32.const 32))
    (i32.store8 (i32.add (local.get $dst) (i32.const 1)) (i32.add (i32.const 48) (i32.div_u (local.get $e) (i32.const 10))))
    (i32.store8 (i32.add (local.get $dst) (i32.const 2)) (i32.add (i32.const 48) (i32.rem_u (local.get $e) (i32.const 10))))
    (i32.add (local.get $dst) (i32.const 3)))

  (func (export "Execute") (result i32)
    (local $e1 i32) (local $e2 i32) (local $e3 i32) (local $e4 i32) (local $end i32) (local $opened i32)
    (local.set $e1 (call $prestat (i32.const 3) (i32.const 512)))
    ;; rights: fd_read (2); the opened descriptor, if any, goes to address 520
    (local.set $e2 (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 11) (i32.const 0)
                                    (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 520)))
    (local.set $e3 (call $path_open (i32.const 3) (i32.const 0) (i32.const 1) (i32.const 10) (i32.const 0)
                                    (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 520)))
    (local.set $e4 (call $path_open (i32.const 4) (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 0)
                                    (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 520)))
    (local.set $opened (i32.or (i32.or (i32.eqz (local.get $e2)) (i32.eqz (local.get $e3))) (i32.eqz (local.get $e4))))
    (if (local.get $opened)
      (then (memory.copy (i32.const 1024) (i32.const 96) (i32.const 45)) (local.set $end (i32.const 1069)))
      (else (memory.copy (i32.const 1024) (i32.const 32) (i32.const 37)) (local.set $end (i32.const 1061))))
    (local.set $end (call $errno (local.get $end) (local.get $e1)))
    (local.set $end (call $errno (local.get $end) (local.get $e2)))
    (local.set $end (call $errno (local.get $end) (local.get $e3)))
    (local.set $end (call $errno (local.get $end) (local.get $e4)))
    (i32.store16 (local.get $end) (i32.const 0x7d22))  ;; the bytes '"' '}'
    (call $emit (i32.const 1024) (i32.sub (i32.add (local.get $end) (i32.const 2)) (i32.const 1024)))
    (i32.const 0)))

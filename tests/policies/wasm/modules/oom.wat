;; Grows its memory by 1 MiB at a time until the runtime refuses: only the memory cap stops it early.
(module
  (memory (export "memory") 1)
  (func (export "Execute") (result i32)
    (loop $grow
      (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    (i32.const 0)))

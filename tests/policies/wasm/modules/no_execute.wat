;; A well-formed module without the Execute export.
(module
  (func (export "Run") (result i32) (i32.const 0)))

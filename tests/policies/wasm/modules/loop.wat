;; Never returns: only the time limit stops it.
(module
  (func (export "Execute") (result i32)
    (loop $forever (br $forever))
    (i32.const 0)))

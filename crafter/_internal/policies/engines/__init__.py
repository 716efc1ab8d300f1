"""Policy engines: Rego (regopy), WebAssembly (extism), and third-party engines from entry points."""

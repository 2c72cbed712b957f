"""Local: the AWS emulator for `--local` runs and the demo.

The emulator's process (`emuserver`: moto's server with libyaml and an optional latency model),
starting and stopping it (`emulator`), the template adaptations its gaps need (`adapt`), and demo
ECS data (`seed`). Never used against AWS. May import: `core`, `spec`, `build`, `lint`,
`deploy`, `ops`.
"""

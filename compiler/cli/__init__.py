"""CLI: the `shipspec` command line, the only place that prints.

Argument parsing and dispatch (`main`), one module per command (`commands/`), the printing edge
(`console`), the text/markdown/JSON reports (`report_*`), and the reference sections generated
into the README (`docs`). May import every other part.
"""

"""Season data: its types (:mod:`common.data.season`), its store, and the synthetic generator
(:mod:`common.data.synth`, a tool: no function imports it)."""

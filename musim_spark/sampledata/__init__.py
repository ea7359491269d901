"""Generated data sets faithful to the users' one (``musim sample-data``; issue 4).

Modules, one concern each:

* :mod:`.source` reads a POP909 song (melody, bridge, piano, beats, chords, key).
* :mod:`.arrangement` turns it into a six-part original in a genre.
* :mod:`.covers` makes the 20 cover types with their true same-sections.
* :mod:`.noise` adds transcription-like errors to delivered MIDI.
* :mod:`.render` renders audio and stems with FluidSynth.
* :mod:`.musicxml` converts MIDI to byte-stable MusicXML.
* :mod:`.labeling` builds the label JSON.
* :mod:`.plan` plans the originals, builds one in memory, derives the seeds and runs the workers
  (shared by :mod:`.generate` and :mod:`.faults`).
* :mod:`.writer` writes one track's files.
* :mod:`.faults` writes the bad inputs of ``--faults``.
* :mod:`.zipparts` delivers the set as split zip parts.
* :mod:`.generate` orchestrates; :mod:`.settings` is the ``sample_data`` configuration section;
  :mod:`.command` is the CLI.

Nothing here imports pyspark. The entry point is
:func:`musim_spark.sampledata.generate.generate` (no shortcut here: the submodule of the same
name would shadow it).
"""

__all__: list[str] = []

"""Import of the original refinery's "project export" snapshot: ``reading`` (the file, its limits and shape),
``tokenizer`` (the tokenizer the project gets), ``importer`` (the project, its attributes, records and tasks),
``heuristics`` (lookup lists and heuristics), ``labels`` (label associations); ``rows`` reads the snapshot's rows."""

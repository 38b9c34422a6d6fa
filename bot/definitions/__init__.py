"""A search's typed definition: fields, schedule, YAML files, store, revisions."""

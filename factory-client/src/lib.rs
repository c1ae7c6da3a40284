//! Talos Image Factory client: schematics, byte-exact offline schematic IDs, versions, extensions, installer image references.

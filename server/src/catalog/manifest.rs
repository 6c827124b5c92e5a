//! `catalog.toml`: parsing (reference section 2.1) and writing.

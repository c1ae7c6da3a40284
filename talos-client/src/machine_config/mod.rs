//! Machine configuration documents: split, edit and join multi-document YAML without disturbing untouched documents.

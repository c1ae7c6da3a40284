//! The client identity (CA, certificate, key) and the Talos roles it carries.

//! Every standard metric on pass, fail and skip cases, through the binary.

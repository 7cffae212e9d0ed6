"""The study's config and codebook: read, checked, turned into plain values."""

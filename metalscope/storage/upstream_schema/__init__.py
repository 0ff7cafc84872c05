"""ironic-inspector's schema lineage, written for MetalScope: upgrade steps with upstream's
revision IDs and version table, so that ``metalscope db upgrade`` can bring a database at any
upstream revision to upstream's head before MetalScope's own migrations run."""

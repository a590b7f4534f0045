"""The project record that outlives Temporal: archives in a store (a folder, or S3-compatible
object storage)."""

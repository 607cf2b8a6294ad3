SELECT id, content_sha256 FROM documents WHERE content_sha256 = ANY(%(keys)b::text[]);

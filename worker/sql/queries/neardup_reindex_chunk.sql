SELECT id, body FROM documents WHERE id > %(after)s ORDER BY id LIMIT %(limit)s;

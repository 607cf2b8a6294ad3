-- Band rows of new documents: 32 per document, so COPY (about twice as fast
-- as INSERT ... SELECT unnest here), as text lines `band_key<TAB>document_id`.
COPY document_bands (band_key, document_id) FROM STDIN;

TRUNCATE document_bands, document_signatures;

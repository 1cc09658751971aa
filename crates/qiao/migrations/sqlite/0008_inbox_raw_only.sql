-- The inbox keeps each push once, as received (`raw`); its JSON form is derived on read.
-- Storing both doubled the bytes written on the callback hot path.
ALTER TABLE inbox DROP COLUMN payload;

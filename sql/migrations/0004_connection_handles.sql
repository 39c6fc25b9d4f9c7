-- "Say hi" shares Discord handles only once the other member accepts: keep each side's handle
-- with the request (the bot cannot look users up later without the privileged members intent).
ALTER TABLE connection_requests ADD COLUMN from_handle text;
ALTER TABLE connection_requests ADD COLUMN to_handle text;

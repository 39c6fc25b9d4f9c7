-- The Discord display name of the member who asked for a link, shown on the web /link page
-- ("You are linking Spotify to Discord member …") so whoever opens a forwarded link sees whose
-- account it would join. NULL when unknown (`soundsync link-url`): the page then says so neutrally.
ALTER TABLE oauth_states ADD COLUMN member_name text;

"""SoundSync's Discord bot: cogs parse a command, call one core service, render the answer."""

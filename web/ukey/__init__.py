"""Programs that own sockets for the UKey: the card emulator, the agent, the stack that runs them."""

"""VirtualCoworking chat: team rooms, messages, real-time delivery over WebSockets, presence."""

"""The allocation service of *Architecture Patterns with Python*, rebuilt on tactical."""

"""The box office: the small application that the tutorial builds, one step per module."""

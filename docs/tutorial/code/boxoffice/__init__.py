"""The box office: a small application (shows, seats, reservations) that the how-to guides use."""

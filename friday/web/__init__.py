"""Web: the base layout, navigation, home page and shared UI pieces."""

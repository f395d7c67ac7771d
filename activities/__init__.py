"""Every effect the workflows need, as methods of classes that receive their dependencies."""

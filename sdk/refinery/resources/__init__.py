"""The resources of :class:`refinery.Client`, one module each; ``Client`` combines them."""

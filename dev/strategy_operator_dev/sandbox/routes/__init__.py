"""The sandbox's routes, one module per API area, in the order the app includes them."""

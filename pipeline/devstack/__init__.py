"""The local stack (moto, osmem-server), the demo and its sample documents."""

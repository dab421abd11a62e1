"""Assets: the equipment registry (street lights, cabinets, junctions, cameras, buildings, …)."""

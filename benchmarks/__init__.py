"""`make bench`: how long shipspec takes on synthetic fleets (a tool, not part of the product)."""

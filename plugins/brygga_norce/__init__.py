"""brygga's Norce Commerce (formerly Jetshop) shop adapter and its simulator."""

"""brygga adapter for Visma e-conomic: the ERP adapter, its simulator and the plugin hook."""

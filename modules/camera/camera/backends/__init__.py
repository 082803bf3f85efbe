"""Camera backends; `camera.registry` says which class serves which `CAMERA_BACKEND`."""

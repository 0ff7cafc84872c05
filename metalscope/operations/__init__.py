"""Domain operations: what each API call and ramdisk callback does. No web framework here."""

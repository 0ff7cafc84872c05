"""PXE/DHCP filtering drivers."""

"""A virtual BlueZ with one virtual heart-rate strap, for testing the real bleak path.

``python -m sensors.virtual`` starts a private ``dbus-daemon``, impersonates ``org.bluez`` on
it (adapter ``/org/bluez/hci0`` and one strap with Heart Rate, Battery and Device Information
services), prints ``DBUS_SYSTEM_BUS_ADDRESS=<address>`` and ``READY``, and sends real Heart
Rate Measurement packets built from the simulator or an RR file. Tests control it through
stdin commands and SIGUSR1 (link loss) and compare what the app received with the packet
log. It never touches the machine's system bus.

Modules: :mod:`~sensors.virtual.daemon` (private bus, system-bus guard),
:mod:`~sensors.virtual.bluez` (adapter and device), :mod:`~sensors.virtual.gatt` (GATT
objects), :mod:`~sensors.virtual.rr_source` (beats), :mod:`~sensors.virtual.strap` (packet
scheduler), :mod:`~sensors.virtual.packet_log`, :mod:`~sensors.virtual.control` (stdin
commands), :mod:`~sensors.virtual.service` (wiring), ``__main__`` (command line).
"""

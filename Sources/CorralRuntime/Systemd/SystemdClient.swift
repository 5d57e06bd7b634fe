import CorralSpec
import Glibc

/// corral's calls to systemd's manager (org.freedesktop.systemd1.Manager), as go-systemd makes them for runc:
/// StartTransientUnit and StopUnit in "replace" mode, each followed by a wait for the JobRemoved signal of the job
/// it queued; SetUnitProperties (runtime only); ResetFailedUnit; the manager's Version. One connection carries
/// the calls and the signals (go-systemd uses two), so the match for JobRemoved is added before any job exists.
final class SystemdClient {
    let connection: DBusConnection
    /// Where it connected ("/run/dbus/system_bus_socket" or systemd's private socket), for messages.
    let path: String
    private var cachedVersion: Int?

    static let privateSocket = "/run/systemd/private"
    static let destination = "org.freedesktop.systemd1"
    static let objectPath = "/org/freedesktop/systemd1"
    static let manager = "org.freedesktop.systemd1.Manager"
    /// go-systemd's rule, byte for byte (Fixtures/dbus/runc-create.conn2.hex).
    static let jobRemovedMatch = "type='signal', interface='org.freedesktop.systemd1.Manager', member='JobRemoved'"
    /// runc waits this long for a job.
    static let jobTimeoutMS: Int32 = 30_000

    /// A connection that is already authenticated (tests hand in one over a socketpair).
    init(connection: DBusConnection, path: String) throws(DBusError) {
        self.connection = connection
        self.path = path
        // On the bus, JobRemoved reaches only clients with a match for it; systemd's private socket gets every
        // signal anyway (addMatch is then a no-op).
        try connection.addMatch(SystemdClient.jobRemovedMatch)
    }

    /// go-systemd's NewWithContext: the system bus, and when there is no bus daemon (or it refuses us) systemd's
    /// own private socket, which only root may use.
    static func connect(bus: String = DBusConnection.systemBusPath, privateSocket: String = SystemdClient.privateSocket)
        throws(RuntimeError) -> SystemdClient {
        let busError: DBusError
        do throws(DBusError) {
            return try SystemdClient(connection: DBusConnection(path: bus, bus: true), path: bus)
        } catch { busError = error }
        do throws(DBusError) {
            return try SystemdClient(connection: DBusConnection(path: privateSocket, bus: false), path: privateSocket)
        } catch {
            throw RuntimeError(.system, "failed to connect to dbus: \(busError.message) (and systemd's private socket: \(error.message))")
        }
    }

    private func call(_ member: String, _ body: [DBusValue], timeoutMS: Int32 = 30_000) throws(DBusError) -> DBusMessage {
        try connection.call(.call(destination: SystemdClient.destination, path: SystemdClient.objectPath,
                                  interface: SystemdClient.manager, member: member, body), timeoutMS: timeoutMS)
    }

    /// systemd's major version (runc's systemdVersion: -1 when it cannot be read), asked once.
    func version() -> Int {
        if let v = cachedVersion { return v }
        var v = -1
        if let reply = try? connection.call(.call(destination: SystemdClient.destination, path: SystemdClient.objectPath,
                                                   interface: "org.freedesktop.DBus.Properties", member: "Get",
                                                   [.string(SystemdClient.manager), .string("Version")]), timeoutMS: 10_000),
           case .variant(let inner)? = reply.body.first, let text = inner.stringValue {
            v = SystemdProperties.version(text) ?? -1
        }
        cachedVersion = v
        return v
    }

    /// The result of a job ("done", "canceled", "timeout", "failed", "dependency", "skipped"), from its
    /// JobRemoved signal; nil when none came within `timeoutMS`.
    func waitForJob(_ job: String, timeoutMS: Int32 = SystemdClient.jobTimeoutMS) throws(DBusError) -> String? {
        do {
            let m = try connection.waitForSignal(timeoutMS: timeoutMS) { m in
                m.member == "JobRemoved" && m.interface == SystemdClient.manager && m.body.count == 4
                    && m.body[1] == .objectPath(job)
            }
            return m.body[3].stringValue
        } catch {
            if error.message == DBusConnection.timeoutText { return nil }
            throw error
        }
    }

    /// How a start ended when it did not: the unit belongs to someone else (it existed, and was no failed
    /// leftover), or systemd did not make it.
    enum StartFailure: Error { case exists(RuntimeError), failed(RuntimeError) }

    /// runc's startUnit: StartTransientUnit(name, "replace", properties, no aux units) and a wait for its job. A
    /// unit of that name that already exists may be a failed leftover: it is reset and the start retried once.
    /// A job that ends other than "done", or not at all, leaves its failed unit reset.
    func startTransientUnit(_ name: String, _ properties: [SystemdProperty],
                            timeoutMS: Int32 = SystemdClient.jobTimeoutMS) throws(StartFailure) {
        var retried = false
        while true {
            let reply: DBusMessage
            do throws(DBusError) {
                reply = try call("StartTransientUnit", [.string(name), .string("replace"), SystemdProperty.list(properties),
                                                        .array(element: "(sa(sv))", [])])
            } catch {
                let e = RuntimeError(.system, "unable to start unit \(JSONValue.quoted(name)) (properties [\(properties.map(\.description).joined(separator: " "))]): \(error.message)")
                if error.name == "org.freedesktop.systemd1.UnitExists" {
                    if !retried {
                        retried = true
                        _ = resetFailedUnit(name)
                        continue
                    }
                    throw .exists(e)
                }
                throw .failed(e)
            }
            guard let job = reply.body.first?.stringValue else {
                throw .failed(RuntimeError(.system, "unable to start unit \(JSONValue.quoted(name)): systemd answered without a job"))
            }
            let result: String?
            do throws(DBusError) { result = try waitForJob(job, timeoutMS: timeoutMS) } catch {
                throw .failed(RuntimeError(.system, "waiting for systemd to create \(name): \(error.message)"))
            }
            guard let result else {
                _ = resetFailedUnit(name)
                throw .failed(RuntimeError(.system, "Timeout waiting for systemd to create \(name)"))
            }
            if result != "done" {
                _ = resetFailedUnit(name)
                throw .failed(RuntimeError(.system, "error creating systemd unit `\(name)`: got `\(result)`"))
            }
            return
        }
    }

    /// runc's stopUnit: StopUnit(name, "replace") and a wait for its job, then ResetFailedUnit. A unit that is not
    /// loaded is already gone (systemd removes an empty scope by itself). A job that ends other than "done" is
    /// a warning, as in runc; no end within the timeout is an error.
    /// `replyTimeoutMS` bounds the wait for the call's own reply (systemd answers at once; the job may take long).
    func stopUnit(_ name: String, timeoutMS: Int32 = SystemdClient.jobTimeoutMS, replyTimeoutMS: Int32 = 15_000,
                  warn: (String) -> Void) throws(RuntimeError) {
        var result: String? = "done"
        do throws(DBusError) {
            let reply = try call("StopUnit", [.string(name), .string("replace")], timeoutMS: replyTimeoutMS)
            if let job = reply.body.first?.stringValue { result = try waitForJob(job, timeoutMS: timeoutMS) }
        } catch {
            if error.name != "org.freedesktop.systemd1.NoSuchUnit" {
                throw RuntimeError(.system, "stop unit \(name): \(error.message)")
            }
        }
        guard let result else { throw RuntimeError(.system, "Timed out while waiting for systemd to remove \(name)") }
        if result != "done" { warn("error removing unit `\(name)`: got `\(result)`. Continuing...") }
        // A unit that failed (an OOM kill marks a scope so) stays loaded until this.
        if let e = resetFailedUnit(name) { warn("unable to reset failed unit: \(e)") }
    }

    /// ResetFailedUnit(name); the text of an error other than NoSuchUnit (nothing to reset), else nil.
    @discardableResult
    func resetFailedUnit(_ name: String) -> String? {
        do throws(DBusError) {
            _ = try call("ResetFailedUnit", [.string(name)])
        } catch {
            return error.name == "org.freedesktop.systemd1.NoSuchUnit" ? nil : error.message
        }
        return nil
    }

    /// SetUnitProperties(name, runtime: true, properties): the change lasts until the unit goes.
    func setUnitProperties(_ name: String, _ properties: [SystemdProperty]) throws(RuntimeError) {
        do throws(DBusError) {
            _ = try call("SetUnitProperties", [.string(name), .bool(true), SystemdProperty.list(properties)])
        } catch {
            throw RuntimeError(.system, "unable to set unit properties: \(error.message)")
        }
    }
}

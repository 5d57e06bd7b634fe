/// The verbs, one file each (or one file per family: Lifecycle, CgroupVerbs): each is a `Verb` (name, usage,
/// options, arity) and a function of the parsed arguments and the `Context`, dispatched from CLI/Corral.swift.
enum Commands {}

// Types for tap's plugin build, which compiles an import of tap-plugin.cjs.
export declare const importLoader: string
export declare const preload: boolean
export declare const testFileExtensions: string[]
